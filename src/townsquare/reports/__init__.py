"""Reports: client-ready HTML, PDF and XLSX reports built from Measure's and Links' figures."""
