"""scrape-push and a real Prometheus 2.42 reading the same protobuf exposition."""
