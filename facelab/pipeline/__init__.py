"""Top layer: what composes the stages. :mod:`.faces` turns photos into each model's input (detect, then the crop
the model's registry entry asks for), :mod:`.identification` composes embedders and classifiers into identifiers.
"""
