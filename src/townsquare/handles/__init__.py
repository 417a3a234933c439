"""Handle availability: is a name free on every platform a brand may want to be on?"""
