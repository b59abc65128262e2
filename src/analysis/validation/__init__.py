"""The validation wing: how far to trust the counts before publishing them.

A reader can ignore it until they need it. ``sample`` draws sentences for a
human to code and reads the coded sheet back; ``agreement`` compares two
codings (F1, Krippendorff's alpha, confusion); ``qdpx`` exchanges codings
with QDA tools (REFI-QDA); ``figures`` and ``report`` draw the agreement.
"""
