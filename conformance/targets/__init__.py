"""The third-party servers the suite runs against: the table, its command line, the launchers."""
