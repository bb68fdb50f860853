"""Mission councils: external councils attached to missions, their meetings and minutes, and
their recommendations to the government with its responses."""
