"""Stocktakes, the delivery judgement, risks and external challenge."""
