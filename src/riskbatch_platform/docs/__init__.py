"""The docs: their generated parts (riskbatch-docs) and the check that every link and command in them works."""
