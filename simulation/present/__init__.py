"""Presentation: plots, the comparison report, the backtest write-up, the dashboard and the command line."""
