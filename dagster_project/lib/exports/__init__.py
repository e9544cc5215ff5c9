"""What leaves the warehouse for people: ATT&CK Navigator layers, reports."""
