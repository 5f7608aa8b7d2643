"""What every role shares: errors, atomic writes, config schema, charset, images, metrics."""
