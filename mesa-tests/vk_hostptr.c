// SPDX-License-Identifier: MIT
/*
 * vk_hostptr: VK_EXT_external_memory_host imports on anv and hasvk, run
 * under intel_noop_drm_shim with libvblit_forward.so in front of it, so
 * that the userptr ioctls Mesa issues get the real kernel's answers.
 *
 *   vk_hostptr --icd .../libvulkan_intel.so --label anv/skl [--case NAME]
 *
 * The ICD is loaded directly (no Vulkan loader). Every case gets its own
 * VkDevice, since some of them lose it. A case imports user memory, and if
 * that works binds it to a buffer, fills the buffer on the GPU and waits:
 * the submit is where the kernel validates a userptr object the import
 * did not. See mt_common.h for the RESULT lines.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include "mt_common.h"

#define VK_SIZE (64u * 1024)

typedef VkResult (*PFN_negotiate)(uint32_t *version);

struct vk {
	PFN_vkGetInstanceProcAddr gipa;
	VkInstance instance;
	VkPhysicalDevice pdev;
	uint32_t qfam;
	char config[96];
	PFN_vkDestroyInstance DestroyInstance;
	PFN_vkEnumeratePhysicalDevices EnumeratePhysicalDevices;
	PFN_vkGetPhysicalDeviceProperties GetPhysicalDeviceProperties;
	PFN_vkGetPhysicalDeviceQueueFamilyProperties GetPhysicalDeviceQueueFamilyProperties;
	PFN_vkEnumerateDeviceExtensionProperties EnumerateDeviceExtensionProperties;
	PFN_vkCreateDevice CreateDevice;
	PFN_vkGetDeviceProcAddr GetDeviceProcAddr;
};

struct vk_dev {
	VkDevice dev;
	VkQueue queue;
	PFN_vkDestroyDevice DestroyDevice;
	PFN_vkGetDeviceQueue GetDeviceQueue;
	PFN_vkAllocateMemory AllocateMemory;
	PFN_vkFreeMemory FreeMemory;
	PFN_vkGetMemoryHostPointerPropertiesEXT GetMemoryHostPointerPropertiesEXT;
	PFN_vkCreateBuffer CreateBuffer;
	PFN_vkDestroyBuffer DestroyBuffer;
	PFN_vkGetBufferMemoryRequirements GetBufferMemoryRequirements;
	PFN_vkBindBufferMemory BindBufferMemory;
	PFN_vkCreateCommandPool CreateCommandPool;
	PFN_vkDestroyCommandPool DestroyCommandPool;
	PFN_vkAllocateCommandBuffers AllocateCommandBuffers;
	PFN_vkBeginCommandBuffer BeginCommandBuffer;
	PFN_vkEndCommandBuffer EndCommandBuffer;
	PFN_vkCmdFillBuffer CmdFillBuffer;
	PFN_vkQueueSubmit QueueSubmit;
	PFN_vkQueueWaitIdle QueueWaitIdle;
};

static void die(const char *what, VkResult r)
{
	fprintf(stderr, "vk_hostptr: %s failed: %d\n", what, r);
	exit(2);
}

static const char *vk_result_name(VkResult r)
{
	static char other[32];

	switch (r) {
	case VK_SUCCESS: return "SUCCESS";
	case VK_ERROR_DEVICE_LOST: return "DEVICE_LOST";
	case VK_ERROR_INVALID_EXTERNAL_HANDLE: return "INVALID_EXTERNAL_HANDLE";
	case VK_ERROR_OUT_OF_HOST_MEMORY: return "OUT_OF_HOST_MEMORY";
	case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "OUT_OF_DEVICE_MEMORY";
	default:
		snprintf(other, sizeof(other), "VkResult%d", r);
		return other;
	}
}

static void *vk_instance_fn(struct vk *vk, const char *name)
{
	void *fn = (void *)vk->gipa(vk->instance, name);

	if (!fn) {
		fprintf(stderr, "vk_hostptr: no %s\n", name);
		exit(2);
	}
	return fn;
}

static void *vk_device_fn(struct vk *vk, VkDevice dev, const char *name)
{
	void *fn = (void *)vk->GetDeviceProcAddr(dev, name);

	if (!fn) {
		fprintf(stderr, "vk_hostptr: no %s\n", name);
		exit(2);
	}
	return fn;
}

static void vk_init(struct vk *vk, const char *icd_path, const char *label)
{
	const VkApplicationInfo app = {
		.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
		.pApplicationName = "vk_hostptr",
		.apiVersion = VK_API_VERSION_1_1,
	};
	const VkInstanceCreateInfo info = {
		.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
		.pApplicationInfo = &app,
	};
	VkQueueFamilyProperties qprops[8];
	VkExtensionProperties exts[256];
	VkPhysicalDeviceProperties props;
	PFN_vkCreateInstance create;
	PFN_negotiate negotiate;
	uint32_t n = 1, version = 5, i;
	bool has_ext = false;
	void *icd;
	VkResult r;

	icd = dlopen(icd_path, RTLD_NOW | RTLD_LOCAL);
	if (!icd) {
		fprintf(stderr, "vk_hostptr: %s\n", dlerror());
		exit(2);
	}
	negotiate = (PFN_negotiate)dlsym(icd, "vk_icdNegotiateLoaderICDInterfaceVersion");
	vk->gipa = (PFN_vkGetInstanceProcAddr)dlsym(icd, "vk_icdGetInstanceProcAddr");
	if (!negotiate || !vk->gipa) {
		fprintf(stderr, "vk_hostptr: %s is not a Vulkan ICD\n", icd_path);
		exit(2);
	}
	negotiate(&version);

	create = (PFN_vkCreateInstance)vk_instance_fn(vk, "vkCreateInstance");
	r = create(&info, NULL, &vk->instance);
	if (r)
		die("vkCreateInstance", r);
#define GET_INSTANCE_FN(name) (vk->name = vk_instance_fn(vk, "vk" #name))
	GET_INSTANCE_FN(DestroyInstance);
	GET_INSTANCE_FN(EnumeratePhysicalDevices);
	GET_INSTANCE_FN(GetPhysicalDeviceProperties);
	GET_INSTANCE_FN(GetPhysicalDeviceQueueFamilyProperties);
	GET_INSTANCE_FN(EnumerateDeviceExtensionProperties);
	GET_INSTANCE_FN(CreateDevice);
	GET_INSTANCE_FN(GetDeviceProcAddr);

	r = vk->EnumeratePhysicalDevices(vk->instance, &n, &vk->pdev);
	if ((r && r != VK_INCOMPLETE) || !n)
		die("vkEnumeratePhysicalDevices", r ? r : VK_ERROR_INITIALIZATION_FAILED);
	vk->GetPhysicalDeviceProperties(vk->pdev, &props);

	n = 256;
	vk->EnumerateDeviceExtensionProperties(vk->pdev, NULL, &n, exts);
	for (i = 0; i < n; i++)
		has_ext |= !strcmp(exts[i].extensionName,
				   VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
	if (!has_ext) {
		fprintf(stderr, "vk_hostptr: %s lacks %s\n", props.deviceName,
			VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
		exit(2);
	}

	n = 8;
	vk->GetPhysicalDeviceQueueFamilyProperties(vk->pdev, &n, qprops);
	for (vk->qfam = 0; vk->qfam < n; vk->qfam++)
		if (qprops[vk->qfam].queueFlags & VK_QUEUE_GRAPHICS_BIT)
			break;
	if (vk->qfam == n)
		die("finding a graphics queue", VK_ERROR_INITIALIZATION_FAILED);

	mt_note("%s: %s", label, props.deviceName);
}

static void vk_dev_create(struct vk *vk, struct vk_dev *d)
{
	const float prio = 1.0f;
	const VkDeviceQueueCreateInfo qinfo = {
		.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
		.queueFamilyIndex = vk->qfam,
		.queueCount = 1,
		.pQueuePriorities = &prio,
	};
	const char *ext = VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME;
	const VkDeviceCreateInfo info = {
		.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
		.queueCreateInfoCount = 1,
		.pQueueCreateInfos = &qinfo,
		.enabledExtensionCount = 1,
		.ppEnabledExtensionNames = &ext,
	};
	VkResult r;

	memset(d, 0, sizeof(*d));
	r = vk->CreateDevice(vk->pdev, &info, NULL, &d->dev);
	if (r)
		die("vkCreateDevice", r);
#define GET_DEVICE_FN(name) (d->name = vk_device_fn(vk, d->dev, "vk" #name))
	GET_DEVICE_FN(DestroyDevice);
	GET_DEVICE_FN(GetDeviceQueue);
	GET_DEVICE_FN(AllocateMemory);
	GET_DEVICE_FN(FreeMemory);
	GET_DEVICE_FN(GetMemoryHostPointerPropertiesEXT);
	GET_DEVICE_FN(CreateBuffer);
	GET_DEVICE_FN(DestroyBuffer);
	GET_DEVICE_FN(GetBufferMemoryRequirements);
	GET_DEVICE_FN(BindBufferMemory);
	GET_DEVICE_FN(CreateCommandPool);
	GET_DEVICE_FN(DestroyCommandPool);
	GET_DEVICE_FN(AllocateCommandBuffers);
	GET_DEVICE_FN(BeginCommandBuffer);
	GET_DEVICE_FN(EndCommandBuffer);
	GET_DEVICE_FN(CmdFillBuffer);
	GET_DEVICE_FN(QueueSubmit);
	GET_DEVICE_FN(QueueWaitIdle);
	d->GetDeviceQueue(d->dev, vk->qfam, 0, &d->queue);
}

static VkBuffer vk_buffer_create(struct vk_dev *d)
{
	const VkExternalMemoryBufferCreateInfo ext = {
		.sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO,
		.handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
	};
	const VkBufferCreateInfo info = {
		.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
		.pNext = &ext,
		.size = VK_SIZE,
		.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
	};
	VkBuffer buf;
	VkResult r;

	r = d->CreateBuffer(d->dev, &info, NULL, &buf);
	if (r)
		die("vkCreateBuffer", r);
	return buf;
}

/* Imports @mem as the memory of @buf, the way an application would. */
static VkResult vk_import(struct vk_dev *d, VkBuffer buf, struct mt_mem *mem,
			  VkDeviceMemory *out)
{
	VkMemoryHostPointerPropertiesEXT hprops = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT,
	};
	const VkImportMemoryHostPointerInfoEXT import = {
		.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
		.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
		.pHostPointer = mem->ptr,
	};
	VkMemoryAllocateInfo info = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
		.pNext = &import,
		.allocationSize = mem->size,
	};
	VkMemoryRequirements reqs;
	uint32_t types;
	VkResult r;

	r = d->GetMemoryHostPointerPropertiesEXT(d->dev,
		VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
		mem->ptr, &hprops);
	if (r)
		return r;
	d->GetBufferMemoryRequirements(d->dev, buf, &reqs);
	types = hprops.memoryTypeBits & reqs.memoryTypeBits;
	if (!types)
		die("finding a memory type", VK_ERROR_FEATURE_NOT_PRESENT);
	info.memoryTypeIndex = __builtin_ctz(types);

	r = d->AllocateMemory(d->dev, &info, NULL, out);
	if (r)
		return r;
	r = d->BindBufferMemory(d->dev, buf, *out, 0);
	if (r)
		die("vkBindBufferMemory", r);
	return VK_SUCCESS;
}

/* Fills @buf on the GPU and waits: the first result that is not success. */
static VkResult vk_fill(struct vk *vk, struct vk_dev *d, VkBuffer buf)
{
	const VkCommandPoolCreateInfo pinfo = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
		.queueFamilyIndex = vk->qfam,
	};
	VkCommandBufferAllocateInfo cinfo = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
		.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
		.commandBufferCount = 1,
	};
	const VkCommandBufferBeginInfo begin = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
	};
	VkSubmitInfo submit = {
		.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
		.commandBufferCount = 1,
	};
	VkCommandBuffer cmd;
	VkCommandPool pool;
	VkResult r;

	r = d->CreateCommandPool(d->dev, &pinfo, NULL, &pool);
	if (r)
		die("vkCreateCommandPool", r);
	cinfo.commandPool = pool;
	r = d->AllocateCommandBuffers(d->dev, &cinfo, &cmd);
	if (r)
		die("vkAllocateCommandBuffers", r);
	d->BeginCommandBuffer(cmd, &begin);
	d->CmdFillBuffer(cmd, buf, 0, VK_SIZE, 0x5a5a5a5a);
	r = d->EndCommandBuffer(cmd);
	if (r)
		die("vkEndCommandBuffer", r);

	submit.pCommandBuffers = &cmd;
	r = d->QueueSubmit(d->queue, 1, &submit, VK_NULL_HANDLE);
	if (!r)
		r = d->QueueWaitIdle(d->queue);
	d->DestroyCommandPool(d->dev, pool, NULL);
	return r;
}

/*
 * struct vk_case - one import scenario
 * @want: expected result, [with the series][kernel advertises PROBE]
 */
struct vk_case {
	const char *name;
	const char *desc;
	enum mt_mem_kind kind;
	bool munmap_after_import;
	int inject;
	const char *want[2][2];
};

#define OK_OK "import:SUCCESS,submit:SUCCESS"
#define OK_LOST "import:SUCCESS,submit:DEVICE_LOST"
#define BAD "import:INVALID_EXTERNAL_HANDLE"
#define OOM "import:OUT_OF_HOST_MEMORY"

static const struct vk_case vk_cases[] = {
	{ "aligned", "page-aligned read-write memory imports and is used",
	  MT_MEM_ALIGNED, false, 0,
	  { { OK_OK, OK_OK }, { OK_OK, OK_OK } } },
	{ "unaligned", "an unaligned pointer is refused by the kernel (EINVAL) at import",
	  MT_MEM_UNALIGNED, false, 0,
	  { { BAD, BAD }, { BAD, BAD } } },
	{ "unmapped", "a hole fails the import (without PROBE: only since the series; before, the first submit lost the device)",
	  MT_MEM_UNMAPPED, false, 0,
	  { { OK_LOST, BAD }, { BAD, BAD } } },
	{ "read-only", "a PROT_READ mapping: write access fails at import without PROBE (series); PROBE only checks the range is mapped",
	  MT_MEM_READ_ONLY, false, 0,
	  { { OK_LOST, OK_LOST }, { BAD, OK_LOST } } },
	{ "munmap-after-import", "memory unmapped after a good import: the kernel refuses the submit (EFAULT), the device is lost",
	  MT_MEM_ALIGNED, true, 0,
	  { { OK_LOST, OK_LOST }, { OK_LOST, OK_LOST } } },
	{ "out-of-memory", "the kernel's ENOMEM (injected) is VK_ERROR_OUT_OF_HOST_MEMORY, not INVALID_EXTERNAL_HANDLE",
	  MT_MEM_ALIGNED, false, ENOMEM,
	  { { BAD, BAD }, { OOM, OOM } } },
};

static void vk_run_case(struct vk *vk, const struct vk_case *c)
{
	VkDeviceMemory dmem = VK_NULL_HANDLE;
	struct mt_mem mem;
	struct vk_dev d;
	char got[96];
	VkBuffer buf;
	VkResult r;
	int probe;

	vk_dev_create(vk, &d);
	probe = mt_probe();
	buf = vk_buffer_create(&d);
	mt_mem_get(&mem, c->kind, VK_SIZE);
	mt_forward_inject(c->inject);
	r = vk_import(&d, buf, &mem, &dmem);
	mt_forward_inject(0);
	if (r) {
		snprintf(got, sizeof(got), "import:%s", vk_result_name(r));
	} else {
		if (c->munmap_after_import)
			mt_mem_put(&mem);
		r = vk_fill(vk, &d, buf);
		snprintf(got, sizeof(got), "import:SUCCESS,submit:%s",
			 vk_result_name(r));
	}
	d.DestroyBuffer(d.dev, buf, NULL);
	if (dmem)
		d.FreeMemory(d.dev, dmem, NULL);
	mt_mem_put(&mem);
	d.DestroyDevice(d.dev, NULL);

	mt_result(vk->config, c->name, c->desc, got, c->want[1][probe],
		  c->want[0][probe]);
}

/* The import's USERPTR ioctl reached the kernel and was answered by it. */
static void vk_case_forwarded(struct vk *vk)
{
	struct vblit_forward_stats s;
	VkDeviceMemory dmem = VK_NULL_HANDLE;
	struct mt_mem mem;
	struct vk_dev d;
	VkBuffer buf;
	bool ok;

	vk_dev_create(vk, &d);
	buf = vk_buffer_create(&d);
	mt_mem_get(&mem, MT_MEM_ALIGNED, VK_SIZE);
	mt_forward_reset();
	ok = !vk_import(&d, buf, &mem, &dmem);
	ok &= mt_forward_get(&s) && s.userptr_calls == 1 &&
	      !s.userptr_kernel_errors && !s.userptr_injected;
	d.DestroyBuffer(d.dev, buf, NULL);
	if (dmem)
		d.FreeMemory(d.dev, dmem, NULL);
	mt_forward_get(&s);
	ok &= s.closes == 1;
	mt_mem_put(&mem);
	d.DestroyDevice(d.dev, NULL);

	mt_result(vk->config, "forwarded",
		  "the import's USERPTR and the free's GEM_CLOSE reached vblit",
		  ok ? "kernel" : "not-forwarded", "kernel", "kernel");
}

/*
 * Run in a child with INTEL_DEBUG=buf (Mesa reads it once per process): a
 * refused import is logged with the kernel's errno.
 */
static void vk_case_error_logged(struct vk *vk)
{
	VkDeviceMemory dmem = VK_NULL_HANDLE;
	struct mt_mem mem;
	struct vk_dev d;
	VkBuffer buf;
	char *log, line[256];
	bool logged;

	vk_dev_create(vk, &d);
	buf = vk_buffer_create(&d);
	mt_mem_get(&mem, MT_MEM_UNMAPPED, VK_SIZE);
	mt_capture_begin();
	vk_import(&d, buf, &mem, &dmem);
	log = mt_capture_end();
	logged = mt_log_find(log, "host pointer import", strerror(EFAULT),
			     line, sizeof(line));
	if (logged)
		mt_note("logged: %s", line);
	free(log);
	d.DestroyBuffer(d.dev, buf, NULL);
	if (dmem)
		d.FreeMemory(d.dev, dmem, NULL);
	d.DestroyDevice(d.dev, NULL);

	mt_result(vk->config, "error-logged",
		  "with INTEL_DEBUG=buf a refused import is logged with the kernel's errno",
		  logged ? "log:yes" : "log:no", "log:yes", "log:no");
}

int main(int argc, char **argv)
{
	struct vk vk = { 0 };
	struct mt_args args;
	unsigned int i;

	mt_args_parse(&args, argc, argv, "--icd", "vk");
	vk_init(&vk, args.lib, args.label);
	/* Creating a device asks the kernel (the interposer) about PROBE. */
	{
		struct vk_dev d;

		vk_dev_create(&vk, &d);
		d.DestroyDevice(d.dev, NULL);
	}
	snprintf(vk.config, sizeof(vk.config), "%s/%s", args.label, mt_probe_name());

	if (args.only && !strcmp(args.only, "error-logged")) {
		vk_case_error_logged(&vk);
	} else {
		vk_case_forwarded(&vk);
		for (i = 0; i < MT_ARRAY_SIZE(vk_cases); i++)
			vk_run_case(&vk, &vk_cases[i]);
		mt_reexec(argc, argv, "INTEL_DEBUG=buf", "error-logged");
	}
	vk.DestroyInstance(vk.instance, NULL);
	return 0;
}
