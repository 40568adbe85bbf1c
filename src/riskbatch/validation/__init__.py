"""Is the model right? The backtest history and its statistics (history, backtest), challenger models
(challengers), the day-over-day explanation (explain), risk limits (limits) and the previous night's
revaluations that the backtest and the explanation need (previous_night)."""
