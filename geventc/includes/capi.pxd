# The slot numbers of geventc's C API, whose one home is the public header
# include/geventc.h (C extensions read them there; _hub's _capi.pxi fills
# the table by the same numbers).

cdef extern from *:
    """
    #define GEVENTC_PROVIDING_CAPI 1
    #include "geventc.h"
    """
    enum:
        PyGeventC_API_VERSION
        PyGeventC_GetHub_NUM
        PyGeventC_Sleep_NUM
        PyGeventC_Spawn_NUM
        PyGeventC_WaitFd_NUM
        PyGeventC_RunCallback_NUM
        PyGeventC_RunCallbackThreadsafe_NUM
        PyGeventC_Version_NUM
        PyGeventC_API_pointers
