"""LLM Lab: the router. Run with `streamlit run streamlit_app.py`.

The navigation comes from ui/curriculum.py, the one list of pages the tests also read.
"""

import streamlit as st

from ui.curriculum import HOME, Page, pages_by_section

st.set_page_config(page_title="LLM Lab", page_icon="🧪", layout="wide")


def st_page(page: Page) -> st.Page:
    return st.Page(page.path, title=page.title, icon=page.icon, default=page is HOME)


navigation = {"LLM Lab": [st_page(HOME)]}
navigation.update({section: [st_page(p) for p in pages] for section, pages in pages_by_section().items()})
st.navigation(navigation).run()
