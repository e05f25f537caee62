"""Data quality: which accepted rows an analysis should not trust, and why.

The flags come from the instrument's ``quality`` section.
"""
