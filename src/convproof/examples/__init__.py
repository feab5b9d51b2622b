"""Runnable examples: ``python -m convproof.examples.lenet`` trains the notes' LeNet.

The examples need the ``examples`` extra (scikit-learn, for its bundled digits data set):
``pip install 'convproof[examples]'``.
"""
