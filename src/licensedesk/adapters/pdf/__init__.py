"""PDF rendering of invoices and credit notes (reportlab, with an embedded Japanese TrueType font)."""
