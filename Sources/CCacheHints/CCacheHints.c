// Everything is in the header (static inline); this file gives the target a source.
#include "CCacheHints.h"
