"""Data quality: which accepted rows an analysis should not trust, and why (flags from the instrument's
``quality`` section).
"""
