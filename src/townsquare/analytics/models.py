"""Tables of the measure capability (issue "Measure")."""
