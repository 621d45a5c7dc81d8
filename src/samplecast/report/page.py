"""The page every report is laid out on: A4 portrait with 18 mm margins. Figures are drawn at the text width, so
their text prints at the size it was drawn."""

A4_WIDTH_MM = 210.0
MARGIN_MM = 18.0
#: Width of the text block, in mm and in inches (matplotlib's unit).
TEXT_WIDTH_MM = A4_WIDTH_MM - 2 * MARGIN_MM
TEXT_WIDTH_IN = TEXT_WIDTH_MM / 25.4
