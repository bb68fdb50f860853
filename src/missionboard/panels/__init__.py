"""Citizens' panels: recruitment by lottery, fair selection, replacements and responses."""
