"""The HTTP service: a thin FastAPI shell around the ner library."""
