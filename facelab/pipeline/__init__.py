"""Top layer: what composes the stages.

* :mod:`.analyzer` - :class:`~.analyzer.FaceAnalyzer` and :func:`~.analyzer.analyze`: photo -> faces with identity,
  expression and affect
* :mod:`.faces` - the one path from an image file to each model's input (detect, frame, crop)
* :mod:`.framing` - each detector's box mapped to the crop a model was trained on, fitted on LFW training photos
* :mod:`.openset` - verification and the open-set rule measured through the pipeline
* :mod:`.identification` - the identifier registry (embedders composed with classifiers) and its benchmark loops
"""
