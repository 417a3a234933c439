"""Community maturity: a self-assessment over eight competencies and four stages."""
