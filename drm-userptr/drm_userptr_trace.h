/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Tracepoints of the drm_userptr helper: trace-cmd record -e drm_userptr
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM drm_userptr

#if !defined(_DRM_USERPTR_TRACE_H_) || defined(TRACE_HEADER_MULTI_READ)
#define _DRM_USERPTR_TRACE_H_

#include <linux/tracepoint.h>

struct drm_userptr;

TRACE_EVENT(drm_userptr_acquire,
	    TP_PROTO(struct drm_userptr *up, unsigned long npages,
		     unsigned int retries),
	    TP_ARGS(up, npages, retries),
	    TP_STRUCT__entry(__field(const void *, up)
			     __field(unsigned long, npages)
			     __field(unsigned int, retries)),
	    TP_fast_assign(__entry->up = up;
			   __entry->npages = npages;
			   __entry->retries = retries;),
	    TP_printk("up=%p npages=%lu retries=%u",
		      __entry->up, __entry->npages, __entry->retries)
);

TRACE_EVENT(drm_userptr_invalidate,
	    TP_PROTO(struct drm_userptr *up, unsigned long start,
		     unsigned long end, unsigned int event, bool blockable),
	    TP_ARGS(up, start, end, event, blockable),
	    TP_STRUCT__entry(__field(const void *, up)
			     __field(unsigned long, start)
			     __field(unsigned long, end)
			     __field(unsigned int, event)
			     __field(bool, blockable)),
	    TP_fast_assign(__entry->up = up;
			   __entry->start = start;
			   __entry->end = end;
			   __entry->event = event;
			   __entry->blockable = blockable;),
	    TP_printk("up=%p range=[0x%lx, 0x%lx) event=%u blockable=%d",
		      __entry->up, __entry->start, __entry->end,
		      __entry->event, __entry->blockable)
);

TRACE_EVENT(drm_userptr_retry,
	    TP_PROTO(struct drm_userptr *up, unsigned int retries),
	    TP_ARGS(up, retries),
	    TP_STRUCT__entry(__field(const void *, up)
			     __field(unsigned int, retries)),
	    TP_fast_assign(__entry->up = up;
			   __entry->retries = retries;),
	    TP_printk("up=%p retries=%u", __entry->up, __entry->retries)
);

#endif /* _DRM_USERPTR_TRACE_H_ */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE drm_userptr_trace
#include <trace/define_trace.h>
