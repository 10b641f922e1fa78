"""The composition root: wires core, delivery, providers and workers into one product."""
