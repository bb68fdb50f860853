"""Partners: organisations, their staff, public commitments to missions and progress reports."""
