"""Replay validation: does a detection fire on a real attack's CloudTrail records?

`event_pattern_match` and `filter_pattern_match` are the matchers (AWS's semantics, no Dagster); the rest of
the package loads scenarios and runs the replay.
"""
