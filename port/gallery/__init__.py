"""``mfv gallery``: one neuron's facets on several networks, measured (docs/gallery.md)."""
