"""Infrastructure the lessons stand on: data and model registries, the Hub probe, the memory meter, BertViz offline."""
