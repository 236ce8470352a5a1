"""The core: errors, settings, money and cursors. Imports nothing of seatkeeper; everything else may import it."""
