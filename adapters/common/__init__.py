"""What the three dialects share: time formats, paging maths and the field crosswalk."""
