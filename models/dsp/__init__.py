"""The signal functions of librosa that callqa's voice features use, in numpy and scipy alone.

librosa imports numba, and numba loads LLVM: about 175 MiB of a worker's memory and a second of
its start for a few element-wise kernels. These modules compute what librosa 0.11 computes, with
the same numpy and scipy operations in the same order, for the arguments callqa passes (the
tests compare them with librosa, array for array); the kernels librosa compiles with numba
(zero crossings, local extrema, parabolic interpolation, peak picking, overlap-add) are written
in numpy with the same arithmetic.

Adapted from librosa (https://librosa.org), ISC licence, Copyright (c) 2013--2023, librosa
development team; see ``models/dsp/NOTICE.md``.
"""
