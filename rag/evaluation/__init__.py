"""Measure retrieval and quotation quality: eval sets, metrics, BEIR, reports."""
