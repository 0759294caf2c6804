"""What a schema cannot say about a pipeline: the ``meaning`` stage (``stages.py``), and the checks of the
later stages that judge what ``compile`` made (guardrails, ``config:`` removals).

Below it, ``format`` reads the document and ``compile`` knows the kinds; nothing below imports this
package, so a check can read both the document and the kind specs.
"""
