"""scrape-push: scrape Prometheus endpoints on a schedule and push the samples out."""

__version__ = "0.1.0"
