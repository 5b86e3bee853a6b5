/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * usdt_args.bpf.h - LSTRACE_USDT(): libbpf's BPF_USDT() with every argument
 * fetched in one pass.
 *
 * libbpf's BPF_USDT() calls its bpf_usdt_arg() subprogram once per
 * argument, and each call gets the attach cookie, looks up the probe's
 * argument spec and, for a register argument, copies the register out of
 * pt_regs with bpf_probe_read_kernel(): three calls per argument, 24 for
 * langswarm:span_begin's eight.  Helper calls cost tens of nanoseconds
 * each under return-thunk mitigations, so that is much of a span's cost.
 *
 * LSTRACE_USDT() takes the same arguments and reads the same spec (libbpf
 * fills it at attach time), but gets the cookie and the spec once per probe
 * hit and reads registers with plain context loads: on x86-64 a switch over
 * pt_regs offsets, each case a constant-offset load the verifier accepts.
 * Only memory operands (which lstrace.h's "nr" constraint rules out, but
 * another compiler's probes may use) still need a helper.  Elsewhere it
 * falls back to bpf_usdt_arg().
 */
#ifndef LSTRACE_USDT_ARGS_BPF_H
#define LSTRACE_USDT_ARGS_BPF_H

#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#if defined(__TARGET_ARCH_x86)

/* One register of pt_regs.  The load is written in assembly so that its
 * offset stays a constant in the instruction: compiled from C, clang merges
 * the switch's loads into one load through ctx plus a variable offset,
 * which the verifier rejects ("dereference of modified ctx ptr").  The
 * offsets are those of the UAPI struct pt_regs that libbpf's reg_off uses. */
#define LSTRACE__REG_CASE(reg)                                                                     \
	case __builtin_offsetof(struct pt_regs, reg):                                              \
		asm volatile("%0 = *(u64 *)(%1 + %2)"                                              \
			     : "=r"(val)                                                           \
			     : "r"(ctx), "i"(__builtin_offsetof(struct pt_regs, reg)));            \
		return val

/* The register at pt_regs offset `off` (libbpf's arg_spec.reg_off). */
static __always_inline unsigned long lstrace_usdt_reg(struct pt_regs *ctx, short off)
{
	unsigned long val;

	switch (off) {
		LSTRACE__REG_CASE(di);
		LSTRACE__REG_CASE(si);
		LSTRACE__REG_CASE(dx);
		LSTRACE__REG_CASE(cx);
		LSTRACE__REG_CASE(r8);
		LSTRACE__REG_CASE(r9);
		LSTRACE__REG_CASE(ax);
		LSTRACE__REG_CASE(bx);
		LSTRACE__REG_CASE(bp);
		LSTRACE__REG_CASE(sp);
		LSTRACE__REG_CASE(r10);
		LSTRACE__REG_CASE(r11);
		LSTRACE__REG_CASE(r12);
		LSTRACE__REG_CASE(r13);
		LSTRACE__REG_CASE(r14);
		LSTRACE__REG_CASE(r15);
		LSTRACE__REG_CASE(ip);
	default:
		return 0;
	}
}

/* Fills args[0..n) the way bpf_usdt_arg() would (0 where it would fail). */
static __always_inline void lstrace_usdt_args(struct pt_regs *ctx, long *args, const int n)
{
	struct __bpf_usdt_spec *spec;
	int spec_id = n ? __bpf_usdt_spec_id(ctx) : -1;

	if (n == 0 || spec_id < 0)
		return;
	spec = bpf_map_lookup_elem(&__bpf_usdt_specs, &spec_id);
	if (!spec)
		return;
#pragma unroll
	for (int i = 0; i < BPF_USDT_MAX_ARG_CNT; i++) {
		if (i >= n || i >= spec->arg_cnt)
			break;
		struct __bpf_usdt_arg_spec *a = &spec->args[i];
		unsigned long val;

		switch (a->arg_type) {
		case BPF_USDT_ARG_CONST:
			val = a->val_off;
			break;
		case BPF_USDT_ARG_REG:
			val = lstrace_usdt_reg(ctx, a->reg_off);
			break;
		case BPF_USDT_ARG_REG_DEREF:
			val = lstrace_usdt_reg(ctx, a->reg_off);
			if (bpf_probe_read_user(&val, sizeof(val), (void *)(val + a->val_off)))
				continue;
			break;
		default:
			continue;
		}
		/* 1-, 2- and 4-byte arguments: clear or sign-extend the rest */
		val <<= a->arg_bitshift;
		if (a->arg_signed)
			val = ((long)val) >> a->arg_bitshift;
		else
			val >>= a->arg_bitshift;
		args[i] = val;
	}
}

#else /* other architectures: libbpf's reader, one argument at a time */

static __always_inline void lstrace_usdt_args(struct pt_regs *ctx, long *args, const int n)
{
#pragma unroll
	for (int i = 0; i < BPF_USDT_MAX_ARG_CNT; i++) {
		if (i >= n)
			break;
		bpf_usdt_arg(ctx, i, &args[i]);
	}
}

#endif

#define ___lstrace_usdt_args0() ctx
#define ___lstrace_usdt_args1(x) ___lstrace_usdt_args0(), (void *)_args[0]
#define ___lstrace_usdt_args2(x, args...) ___lstrace_usdt_args1(args), (void *)_args[1]
#define ___lstrace_usdt_args3(x, args...) ___lstrace_usdt_args2(args), (void *)_args[2]
#define ___lstrace_usdt_args4(x, args...) ___lstrace_usdt_args3(args), (void *)_args[3]
#define ___lstrace_usdt_args5(x, args...) ___lstrace_usdt_args4(args), (void *)_args[4]
#define ___lstrace_usdt_args6(x, args...) ___lstrace_usdt_args5(args), (void *)_args[5]
#define ___lstrace_usdt_args7(x, args...) ___lstrace_usdt_args6(args), (void *)_args[6]
#define ___lstrace_usdt_args8(x, args...) ___lstrace_usdt_args7(args), (void *)_args[7]
#define ___lstrace_usdt_args9(x, args...) ___lstrace_usdt_args8(args), (void *)_args[8]
#define ___lstrace_usdt_args10(x, args...) ___lstrace_usdt_args9(args), (void *)_args[9]
#define ___lstrace_usdt_args11(x, args...) ___lstrace_usdt_args10(args), (void *)_args[10]
#define ___lstrace_usdt_args12(x, args...) ___lstrace_usdt_args11(args), (void *)_args[11]
#define ___lstrace_usdt_args(args...) ___bpf_apply(___lstrace_usdt_args, ___bpf_narg(args))(args)

/* Drop-in for BPF_USDT(name, args...). */
#define LSTRACE_USDT(name, args...)                                                                \
	name(struct pt_regs *ctx);                                                                 \
	static __always_inline typeof(name(0)) ____##name(struct pt_regs *ctx, ##args);            \
	typeof(name(0)) name(struct pt_regs *ctx)                                                  \
	{                                                                                          \
		long _args[BPF_USDT_MAX_ARG_CNT] = {};                                             \
		lstrace_usdt_args(ctx, _args, ___bpf_narg(args));                                  \
		(void)_args;                                                                       \
		_Pragma("GCC diagnostic push")                                                     \
		    _Pragma("GCC diagnostic ignored \"-Wint-conversion\"") return ____##name(      \
			___lstrace_usdt_args(args));                                               \
		_Pragma("GCC diagnostic pop")                                                      \
	}                                                                                          \
	static __always_inline typeof(name(0)) ____##name(struct pt_regs *ctx, ##args)

#endif /* LSTRACE_USDT_ARGS_BPF_H */
