"""The report: the units' results read and summed (results), the figures computed from them (figures),
the PDF's pages, tables and charts (page_one, pages, tables, charts), the notice on the alert topic
(notice), and when a report was published against its deadline (deadline)."""
