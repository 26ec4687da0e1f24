"""The collector server of `journeymap serve`: Segment-compatible collection, access keys, message validation."""
