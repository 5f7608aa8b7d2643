"""The offline data set: words and lines rendered from handwriting fonts, real MNIST digits."""

from pipeline.data.synthetic.digits import held_out_digits
from pipeline.data.synthetic.render import grey_threshold
from pipeline.data.synthetic.sample_data import (
    DIGIT_PREFIX,
    build_sample,
    render_held_out,
    render_held_out_lines,
)

__all__ = [
    "DIGIT_PREFIX",
    "build_sample",
    "grey_threshold",
    "held_out_digits",
    "render_held_out",
    "render_held_out_lines",
]
