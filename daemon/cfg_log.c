/* cfg_log.c: the names of the log settings of cfg_log.h. */
#include "config.h"

#include "cfg_log.h"

const char *cfg_log_level_name(enum cfg_log_level l)
{
    switch (l) {
    case CFG_LOG_ERROR:
        return "error";
    case CFG_LOG_WARNING:
        return "warning";
    case CFG_LOG_INFO:
        return "info";
    case CFG_LOG_DEBUG:
        return "debug";
    }
    return "?";
}
