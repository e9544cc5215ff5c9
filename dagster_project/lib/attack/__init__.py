"""ATT&CK knowledge base: read STIX bundles and external knowledge files, write them verbatim into raw."""
