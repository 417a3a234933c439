"""Short links: slugs, UTM tags, QR codes, the redirector and click analytics."""
