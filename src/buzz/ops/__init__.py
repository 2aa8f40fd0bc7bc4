"""Operations: health, readiness (and, with the delivery engine, metrics)."""
