"""Cython declarations (``.pxd``) of the C libraries geventc uses: nothing to import."""

__all__ = []
