"""The night's inputs: reading and validating the files (files), the data-quality policy that decides
which factors and positions the night can use (quality), the exchange calendar and the report deadline
(business_days), and the sample and synthetic books and markets for the demo and the tests."""
