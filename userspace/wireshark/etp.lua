-- SPDX-License-Identifier: GPL-2.0
--
-- etp.lua - Wireshark/tshark dissector for ETP, the Educational Transport
-- Protocol (IP protocol 253). See Documentation/protocol.rst.
--
--   tshark -X lua_script:userspace/wireshark/etp.lua -r capture.pcap
--   cp userspace/wireshark/etp.lua ~/.local/lib/wireshark/plugins/
--
-- The header is TCP's (RFC 9293, 3.1), but the checksum's pseudo-header
-- carries protocol 253, and ETP has a few rules of its own (options on SYN
-- only, no urgent data). Besides the fields of each segment this shows
-- what a reader of a trace usually works out by hand:
--
--   * sequence and acknowledgment numbers relative to each end's initial
--     sequence number, as Wireshark's TCP dissector does (etp.seq, etp.ack;
--     the numbers on the wire are etp.seq_raw and etp.ack_raw);
--   * the window in octets once both SYNs showed whether it is scaled
--     (RFC 7323, 2.2: a shift applies only when both SYNs carried it);
--   * the checksum verified over the IPv4 pseudo-header;
--   * the state each end is in once the segment is sent and received,
--     following RFC 9293's state diagram (etp.state, etp.state.dst);
--   * retransmissions: segments that take sequence space below what that
--     end has already sent.
--
-- The analysis assumes that what was captured also arrived, and walks the
-- packets in capture order on the first pass; later passes (clicking in
-- Wireshark) show what the first pass found for each frame.

local etp = Proto("etp", "Educational Transport Protocol")

local IPPROTO_ETP = 253
local HDR_LEN = 20
local TWO32 = 4294967296

-- Flags byte (offset 13), lowest bit first, as ETP_FLAG_* in
-- mod/include/uapi/linux/etp.h and as the tracepoints print them.
local FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08,
	0x10, 0x20, 0x40, 0x80
local FLAG_NAMES = {
	{ FIN, "FIN" }, { SYN, "SYN" }, { RST, "RST" }, { PSH, "PSH" },
	{ ACK, "ACK" }, { URG, "URG" }, { ECE, "ECE" }, { CWR, "CWR" },
}

-- Option kinds (RFC 9293, 3.2; RFC 7323, 2.2).
local OPT_EOL, OPT_NOP, OPT_MSS, OPT_WSCALE = 0, 1, 2, 3
local MAX_WSCALE = 14
local option_names = {
	[OPT_EOL] = "End of Option List",
	[OPT_NOP] = "No-Operation",
	[OPT_MSS] = "Maximum segment size",
	[OPT_WSCALE] = "Window scale",
}

local checksum_status_names = { [0] = "Bad", [1] = "Good", [2] = "Unverified" }
local CKSUM_BAD, CKSUM_GOOD, CKSUM_UNVERIFIED = 0, 1, 2

-- --- fields -----------------------------------------------------------------

local set_not_set = { "Set", "Not set" }
local F = {
	srcport = ProtoField.uint16("etp.srcport", "Source Port", base.DEC),
	dstport = ProtoField.uint16("etp.dstport", "Destination Port", base.DEC),
	port = ProtoField.uint16("etp.port", "Source or Destination Port", base.DEC),
	stream = ProtoField.uint32("etp.stream", "Stream index", base.DEC),
	len = ProtoField.uint32("etp.len", "ETP Segment Len", base.DEC),
	seq = ProtoField.uint32("etp.seq", "Sequence Number", base.DEC),
	seq_raw = ProtoField.uint32("etp.seq_raw", "Sequence Number (raw)", base.DEC),
	nxtseq = ProtoField.uint32("etp.nxtseq", "Next Sequence Number", base.DEC),
	ack = ProtoField.uint32("etp.ack", "Acknowledgment Number", base.DEC),
	ack_raw = ProtoField.uint32("etp.ack_raw", "Acknowledgment Number (raw)", base.DEC),
	hdr_len = ProtoField.uint8("etp.hdr_len", "Header Length", base.DEC),
	doff = ProtoField.uint8("etp.doff", "Data Offset", base.DEC, nil, 0xF0,
				"header length in 32-bit words"),
	reserved = ProtoField.uint8("etp.flags.res", "Reserved", base.HEX, nil, 0x0F),
	flags = ProtoField.uint8("etp.flags", "Flags", base.HEX),
	f_cwr = ProtoField.bool("etp.flags.cwr", "Congestion Window Reduced", 8, set_not_set, CWR),
	f_ece = ProtoField.bool("etp.flags.ece", "ECN-Echo", 8, set_not_set, ECE),
	f_urg = ProtoField.bool("etp.flags.urg", "Urgent", 8, set_not_set, URG),
	f_ack = ProtoField.bool("etp.flags.ack", "Acknowledgment", 8, set_not_set, ACK),
	f_psh = ProtoField.bool("etp.flags.push", "Push", 8, set_not_set, PSH),
	f_rst = ProtoField.bool("etp.flags.reset", "Reset", 8, set_not_set, RST),
	f_syn = ProtoField.bool("etp.flags.syn", "Syn", 8, set_not_set, SYN),
	f_fin = ProtoField.bool("etp.flags.fin", "Fin", 8, set_not_set, FIN),
	flags_str = ProtoField.string("etp.flags.str", "ETP Flags"),
	window_value = ProtoField.uint16("etp.window_size_value", "Window", base.DEC),
	window = ProtoField.uint32("etp.window_size", "Calculated window size", base.DEC),
	window_factor = ProtoField.int32("etp.window_size_scalefactor",
					 "Window size scaling factor", base.DEC),
	checksum = ProtoField.uint16("etp.checksum", "Checksum", base.HEX),
	checksum_calc = ProtoField.uint16("etp.checksum.calculated",
					  "Calculated Checksum", base.HEX),
	checksum_status = ProtoField.uint8("etp.checksum.status", "Checksum Status",
					   base.DEC, checksum_status_names),
	urgent = ProtoField.uint16("etp.urgent_pointer", "Urgent Pointer", base.DEC),
	options = ProtoField.bytes("etp.options", "Options"),
	option_kind = ProtoField.uint8("etp.option_kind", "Kind", base.DEC, option_names),
	option_len = ProtoField.uint8("etp.option_len", "Length", base.DEC),
	opt_mss = ProtoField.uint16("etp.options.mss_val", "MSS Value", base.DEC),
	opt_ws_shift = ProtoField.uint8("etp.options.wscale.shift", "Shift count", base.DEC),
	opt_ws_mult = ProtoField.uint16("etp.options.wscale.multiplier", "Multiplier", base.DEC),
	opt_mss_item = ProtoField.none("etp.options.mss", "Maximum segment size"),
	opt_ws_item = ProtoField.none("etp.options.wscale", "Window scale"),
	opt_other_item = ProtoField.none("etp.options.other", "Option"),
	opt_nop = ProtoField.none("etp.options.nop", "No-Operation (NOP)"),
	opt_eol = ProtoField.none("etp.options.eol", "End of Option List (EOL)"),
	opt_unknown = ProtoField.bytes("etp.options.unknown", "Unknown option"),
	opt_padding = ProtoField.bytes("etp.options.padding", "Padding after EOL"),
	payload = ProtoField.bytes("etp.payload", "ETP payload"),
	state = ProtoField.string("etp.state", "Source end's state",
				  "state of the end that sent the segment, once sent"),
	state_dst = ProtoField.string("etp.state.dst", "Destination end's state",
				      "state of the receiving end once it processed the segment"),
	analysis = ProtoField.none("etp.analysis", "Connection analysis"),
	retrans = ProtoField.none("etp.analysis.retransmission", "This is a retransmission"),
	rel_base = ProtoField.string("etp.analysis.base", "Relative numbers"),
}
do
	local list = {}
	for _, f in pairs(F) do
		list[#list + 1] = f
	end
	etp.fields = list
end

local E = {
	checksum_bad = ProtoExpert.new("etp.checksum_bad.expert", "Bad checksum",
				       expert.group.CHECKSUM, expert.severity.ERROR),
	short = ProtoExpert.new("etp.short.expert", "Segment shorter than the 20-octet header",
				expert.group.MALFORMED, expert.severity.ERROR),
	bad_doff = ProtoExpert.new("etp.bad_doff.expert",
				   "Data offset below 5 words or past the end of the segment",
				   expert.group.MALFORMED, expert.severity.ERROR),
	bad_option = ProtoExpert.new("etp.bad_option.expert",
				     "Option runs past the header or has a wrong length",
				     expert.group.MALFORMED, expert.severity.ERROR),
	bad_flags = ProtoExpert.new("etp.bad_flags.expert",
				    "Flags an ETP receiver drops (SYN with FIN or RST, or none of SYN, ACK, RST)",
				    expert.group.PROTOCOL, expert.severity.WARN),
	urgent = ProtoExpert.new("etp.urgent.expert", "ETP has no urgent data: URG or urgent pointer set",
				 expert.group.PROTOCOL, expert.severity.WARN),
	retrans = ProtoExpert.new("etp.retransmission.expert", "This frame is a (suspected) retransmission",
				  expert.group.SEQUENCE, expert.severity.NOTE),
	connection = ProtoExpert.new("etp.connection.expert", "Connection event",
				     expert.group.SEQUENCE, expert.severity.CHAT),
	reset = ProtoExpert.new("etp.reset.expert", "Connection reset (RST)",
				expert.group.SEQUENCE, expert.severity.WARN),
}
etp.experts = { E.checksum_bad, E.short, E.bad_doff, E.bad_option, E.bad_flags,
		E.urgent, E.retrans, E.connection, E.reset }

etp.prefs.relative = Pref.bool("Relative sequence numbers", true,
	"Show sequence and acknowledgment numbers relative to each end's initial sequence number")
etp.prefs.check_checksum = Pref.bool("Validate the ETP checksum", true,
	"Verify the checksum over the IPv4 pseudo-header (protocol 253) and the segment")
etp.prefs.analyze = Pref.bool("Analyze ETP connections", true,
	"Track each connection: relative numbers, window scaling, states, retransmissions")

-- The addresses of the enclosing IPv4 header, for the pseudo-header. The
-- last occurrence is the innermost header, the one that carries us (in an
-- ICMP error quoting ETP, the quoted header).
local ip_src_f = Field.new("ip.src")
local ip_dst_f = Field.new("ip.dst")

-- --- helpers -----------------------------------------------------------------

local function has(flags, bit)
	return math.floor(flags / bit) % 2 == 1
end

-- Sequence arithmetic modulo 2^32 (RFC 9293, 3.4).
local function seq_add(a, n)
	return (a + n) % TWO32
end
local function seq_diff(a, b)
	return (a - b) % TWO32
end
local function seq_lt(a, b)
	local d = seq_diff(b, a)
	return d ~= 0 and d < 2147483648
end

-- "[SYN, ACK]" as Wireshark's TCP shows it.
local function flags_summary(flags)
	local names = {}
	for _, f in ipairs(FLAG_NAMES) do
		if has(flags, f[1]) then
			names[#names + 1] = f[2]
		end
	end
	if #names == 0 then
		return "<None>"
	end
	return table.concat(names, ", ")
end

-- One character per flag, highest bit first: "···A··S·".
local function flags_string(flags)
	local letters, out = "CEUAPRSF", {}
	for i = 1, 8 do
		local bit = 2 ^ (8 - i)
		out[i] = has(flags, bit) and letters:sub(i, i) or "\194\183"
	end
	return table.concat(out)
end

-- Internet checksum (RFC 1071): the 16-bit ones' complement sum of string
-- s added to sum, an odd last octet padded with zero. string.byte returns
-- a bounded number of values at once: go in chunks of an even size.
local function ones_sum(s, sum)
	local n = #s
	for i = 1, n - 1, 4096 do
		local b = { s:byte(i, math.min(i + 4095, n)) }
		for j = 1, #b - 1, 2 do
			sum = sum + b[j] * 256 + b[j + 1]
		end
	end
	if n % 2 == 1 then
		sum = sum + s:byte(n) * 256
	end
	return sum
end

local function fold(sum)
	while sum > 0xFFFF do
		sum = sum % 65536 + math.floor(sum / 65536)
	end
	return sum
end

local function last_field(extractor)
	local all = { extractor() }
	return all[#all]
end

-- Returns status, calculated checksum (nil when it cannot be computed).
local function verify_checksum(tvb, pinfo, check)
	if not etp.prefs.check_checksum then
		return CKSUM_UNVERIFIED
	end
	local seglen = tvb:reported_len()
	-- Truncated captures and segments quoted in ICMP errors lack octets.
	if tvb:len() < seglen then
		return CKSUM_UNVERIFIED
	end
	-- ETP is defined over IPv4 only (the table also serves IPv6).
	if tostring(pinfo.net_src):find(":", 1, true) then
		return CKSUM_UNVERIFIED
	end
	local src, dst = last_field(ip_src_f), last_field(ip_dst_f)
	if not src or not dst then
		return CKSUM_UNVERIFIED
	end
	local s, d = src.range:uint(), dst.range:uint()
	local sum = math.floor(s / 65536) + s % 65536 + math.floor(d / 65536) + d % 65536
	sum = sum + IPPROTO_ETP + seglen
	sum = ones_sum(tvb:raw(0, seglen), sum)
	-- The sum of everything, checksum included, is 0xFFFF when it is right
	-- (RFC 1071); the value the sender should have put in is the complement
	-- of the sum without the checksum field.
	local calc = 0xFFFF - fold(sum - check)
	if fold(sum) == 0xFFFF then
		return CKSUM_GOOD, calc
	end
	return CKSUM_BAD, calc
end

-- --- connection tracking ------------------------------------------------------

-- State names as the kernel's tracepoints and /proc/net/etp print them.
local CLOSE, LISTEN, SYN_SENT, SYN_RECV = "CLOSE", "LISTEN", "SYN_SENT", "SYN_RECV"
local ESTABLISHED, FIN_WAIT1, FIN_WAIT2 = "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2"
local CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT = "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"

local conversations -- "addr:port addr:port" -> conversation
local frames        -- frame number -> what the first pass found
local next_stream

-- A new capture file starts afresh.
local function reset()
	conversations = {}
	frames = {}
	next_stream = 0
end
reset()
etp.init = reset

local function new_end()
	-- base: the number relative numbers count from (the ISN when the SYN
	-- was seen); wscale: shift from the SYN (false: SYN without it);
	-- nxt: highest sequence number this end has used, plus one;
	-- fin: sequence number of this end's FIN; moved: the peer's SYN or FIN
	-- that last changed this end's state, until this end acknowledges it.
	return { state = nil, base = nil, syn_seen = false, wscale = nil,
		 nxt = nil, fin = nil, moved = nil }
end

local function new_conversation(key)
	local c = { stream = next_stream, ends = {}, key = key }
	next_stream = next_stream + 1
	conversations[key] = c
	return c
end

local function closed(state)
	return state == nil or state == CLOSE or state == TIME_WAIT or state == LISTEN
end

-- The state of the receiving end r once it processed segment seg, following
-- RFC 9293, 3.10.7, for the cases a capture can show.
local function receive_state(r, seg)
	if seg.rst then
		-- RFC 1337: TIME_WAIT ignores RSTs (Linux and ETP do too).
		if r.state ~= TIME_WAIT then
			r.state = CLOSE
		end
		return
	end
	if seg.syn then
		if not seg.ack then
			if closed(r.state) or r.state == SYN_SENT then
				-- A listener, or a simultaneous open (RFC 9293, figure 8).
				r.state = SYN_RECV
			end
		elseif (r.state == SYN_SENT or r.state == SYN_RECV) and r.base and
		       seg.ack_raw == seq_add(r.base, 1) then
			-- In SYN_RECV: the peer's SYN-ACK of a simultaneous open.
			r.state = ESTABLISHED
		end
		return
	end
	if seg.ack then
		if r.state == SYN_RECV and r.base and not seq_lt(seg.ack_raw, seq_add(r.base, 1)) then
			r.state = ESTABLISHED
		end
		if r.fin and not seq_lt(seg.ack_raw, seq_add(r.fin, 1)) then
			if r.state == FIN_WAIT1 then
				r.state = FIN_WAIT2
			elseif r.state == CLOSING then
				r.state = TIME_WAIT
			elseif r.state == LAST_ACK then
				r.state = CLOSE
			end
		end
	end
	if seg.fin and seg.first_fin then
		if r.state == ESTABLISHED or r.state == SYN_RECV or r.state == nil then
			r.state = CLOSE_WAIT
		elseif r.state == FIN_WAIT1 then
			-- Our FIN is not acknowledged: simultaneous close.
			r.state = CLOSING
		elseif r.state == FIN_WAIT2 then
			r.state = TIME_WAIT
		end
	end
end

-- receive_state, remembering the peer's SYN or FIN that moved r (see crossed).
local function receive(r, seg, info)
	local before = r.state

	receive_state(r, seg)
	if r.state ~= before and (seg.fin or (seg.syn and not seg.ack)) then
		r.moved = { seg = seg, before = before, info = info }
	end
end

-- The state of the sending end s once it sent seg.
local function send(s, r, seg)
	if seg.rst then
		s.state = CLOSE
	elseif seg.syn then
		if not seg.ack then
			if closed(s.state) or s.state == SYN_SENT then
				s.state = SYN_SENT
			end
		elseif closed(s.state) or s.state == SYN_SENT then
			-- (Already ESTABLISHED: a SYN-ACK sent again, or one of a
			-- simultaneous open that crossed the peer's.)
			s.state = SYN_RECV
		end
	elseif seg.fin and seg.first_fin then
		if s.state == CLOSE_WAIT then
			s.state = LAST_ACK
		elseif s.state == nil then
			-- Joined mid-connection: the peer's FIN decides.
			s.state = r.fin and LAST_ACK or FIN_WAIT1
		elseif s.state == ESTABLISHED or s.state == SYN_RECV then
			s.state = FIN_WAIT1
		end
	elseif s.state == nil then
		s.state = r.fin and CLOSE_WAIT or ESTABLISHED
	end
end

-- Did s send seg before it processed the peer's SYN or FIN that the capture
-- showed first? A bare SYN after the peer's SYN, or a FIN that does not
-- acknowledge the peer's FIN, says so: the two crossed on the way
-- (simultaneous open, RFC 9293 figure 8; simultaneous close, figure 13),
-- and the capture point saw them in an order neither end did.
local function crossed(s, r, seg)
	local m = s.moved
	if not m then
		return false
	end
	if seg.syn and not seg.ack then
		return m.seg.syn and not m.seg.ack
	end
	if seg.fin and seg.first_fin and m.seg.fin and r.fin then
		return not seg.ack or seq_lt(seg.ack_raw, seq_add(r.fin, 1))
	end
	return false
end

-- First pass over one segment: update the conversation and return what the
-- tree shows for this frame. A segment with a bad checksum is dropped by
-- the receiver: it gets relative numbers but moves nothing.
local function analyze(pinfo, seg, dropped)
	local src = tostring(pinfo.src) .. ":" .. seg.sport
	local dst = tostring(pinfo.dst) .. ":" .. seg.dport
	local key = src < dst and (src .. " " .. dst) or (dst .. " " .. src)
	local c = conversations[key]

	-- A SYN on a finished conversation (a reused 4-tuple) starts a new
	-- stream, as with TCP, unless it is the same SYN again.
	if c and seg.syn and not seg.ack and not dropped then
		local s, r = c.ends[src], c.ends[dst]
		if closed(s.state) and closed(r.state) and not (s.syn_seen and s.base == seg.seq_raw) then
			c = nil
		end
	end
	if not c then
		c = new_conversation(key)
		c.ends[src] = new_end()
		c.ends[dst] = new_end()
	end
	local s, r = c.ends[src], c.ends[dst]
	local info = { stream = c.stream }

	-- Relative numbers: each end counts from its ISN. An end whose SYN was
	-- not captured counts from its first sequence number seen (or from the
	-- first acknowledgment of it).
	if seg.syn and not s.syn_seen and not dropped then
		s.syn_seen = true
		s.base = seg.seq_raw
		s.wscale = seg.wscale or false
	elseif s.base == nil then
		s.base = seg.seq_raw
		info.guessed_base = true
	end
	if seg.ack and r.base == nil then
		r.base = seq_add(seg.ack_raw, -1)
		info.guessed_base = true
	end
	info.seq = seq_diff(seg.seq_raw, s.base)
	info.nxt = seq_diff(seg.nxt_raw, s.base)
	if seg.ack then
		info.ack = seq_diff(seg.ack_raw, r.base)
	end

	if dropped then
		info.dropped = true
		info.win_factor = -1
		info.src_before, info.dst_before = s.state, r.state
		info.src_after, info.dst_after = s.state, r.state
		return info
	end

	-- Retransmission: takes sequence space below what this end already used.
	if seg.space > 0 then
		if s.nxt and seq_lt(seg.seq_raw, s.nxt) then
			info.retrans = true
		end
		if not s.nxt or seq_lt(s.nxt, seg.nxt_raw) then
			s.nxt = seg.nxt_raw
		end
	elseif not s.nxt then
		s.nxt = seg.seq_raw
	end
	if seg.fin then
		local fin_seq = seq_add(seg.nxt_raw, -1)
		seg.first_fin = s.fin ~= fin_seq
		s.fin = fin_seq
	end

	-- Window scaling (RFC 7323, 2.2): only when both SYNs carried the
	-- option, and never on the SYNs themselves.
	if seg.syn then
		info.win_factor = 1
	elseif s.wscale ~= nil and r.wscale ~= nil then
		if s.wscale and r.wscale then
			info.win_factor = 2 ^ s.wscale
		else
			info.win_factor = 1
		end
	else
		info.win_factor = -1
	end

	-- States. When this segment crossed the peer's SYN or FIN, the sender
	-- sent it from the state it had before that one arrived, and then
	-- processed it: the earlier frame's view of this end is corrected
	-- (shown from the second pass on, e.g. tshark -2).
	local m = crossed(s, r, seg) and s.moved
	if m then
		s.state = m.before
	end
	info.src_before, info.dst_before = s.state, r.state
	if info.dst_before == nil and seg.syn and not seg.ack then
		info.dst_before = LISTEN
	end
	send(s, r, seg)
	info.src_after = s.state
	if m then
		m.info.dst_before = s.state
		receive_state(s, m.seg)
		m.info.dst_after = s.state
		m.info.crossed = true
		info.crossed = true
		s.moved = nil
	elseif s.moved and seg.ack and not seq_lt(seg.ack_raw, s.moved.seg.nxt_raw) then
		-- s acknowledged what moved it: nothing can cross it any more.
		s.moved = nil
	end
	receive(r, seg, info)
	info.dst_after = r.state
	if m then
		info.src_then = s.state
	end
	return info
end

-- --- dissection ----------------------------------------------------------------

-- The options between octet 20 and the data offset, as a list of
-- { kind, off, len, err } (len nil for EOL and NOP); sets seg.mss and
-- seg.wscale from well-formed MSS and window scale options.
local function parse_options(tvb, hlen, seg)
	local list = {}
	local off = HDR_LEN
	while off < hlen do
		local kind = tvb(off, 1):uint()
		if kind == OPT_EOL or kind == OPT_NOP then
			list[#list + 1] = { kind = kind, off = off }
			if kind == OPT_EOL then
				break
			end
			off = off + 1
		elseif off + 1 >= hlen then
			list[#list + 1] = { kind = kind, off = off, err = "option kind without its length octet" }
			break
		else
			local olen = tvb(off + 1, 1):uint()
			if olen < 2 or off + olen > hlen then
				list[#list + 1] = { kind = kind, off = off, len = olen,
					err = string.format("option length %d runs past the header (%d octets left)",
							    olen, hlen - off) }
				break
			end
			local o = { kind = kind, off = off, len = olen }
			if kind == OPT_MSS then
				if olen == 4 then
					seg.mss = tvb(off + 2, 2):uint()
				else
					o.err = "MSS option not 4 octets long"
				end
			elseif kind == OPT_WSCALE then
				if olen == 3 then
					-- RFC 7323, 2.3: a shift above 14 is used as 14.
					seg.wscale = math.min(tvb(off + 2, 1):uint(), MAX_WSCALE)
				else
					o.err = "window scale option not 3 octets long"
				end
			end
			list[#list + 1] = o
			off = off + olen
		end
	end
	return list
end

-- The options subtree; returns the notes for the Info column.
local function add_options(tvb, tree, hlen, list, seg)
	local otree = tree:add(F.options, tvb(HDR_LEN, hlen - HDR_LEN))
	local notes = {}

	otree:set_text(string.format("Options: (%d bytes)", hlen - HDR_LEN))
	for _, o in ipairs(list) do
		if o.kind == OPT_EOL then
			otree:add(F.opt_eol, tvb(o.off, 1))
			otree:add(F.option_kind, tvb(o.off, 1)):set_hidden()
			if o.off + 1 < hlen then
				otree:add(F.opt_padding, tvb(o.off + 1, hlen - o.off - 1))
			end
			notes[#notes + 1] = "EOL"
		elseif o.kind == OPT_NOP then
			otree:add(F.opt_nop, tvb(o.off, 1))
			otree:add(F.option_kind, tvb(o.off, 1)):set_hidden()
		elseif o.len == nil or o.off + o.len > hlen or o.len < 2 then
			local t = otree:add(F.option_kind, tvb(o.off, 1))
			if o.len then
				otree:add(F.option_len, tvb(o.off + 1, 1))
			end
			t:add_proto_expert_info(E.bad_option, "Malformed option: " .. o.err)
		else
			local r = tvb(o.off, o.len)
			local t
			if o.kind == OPT_MSS and not o.err then
				local mss = tvb(o.off + 2, 2):uint()
				t = otree:add(F.opt_mss_item, r)
				t:set_text("Maximum segment size: " .. mss .. " bytes")
				t:add(F.option_kind, tvb(o.off, 1))
				t:add(F.option_len, tvb(o.off + 1, 1))
				t:add(F.opt_mss, tvb(o.off + 2, 2))
				notes[#notes + 1] = "MSS=" .. mss
			elseif o.kind == OPT_WSCALE and not o.err then
				local shift = tvb(o.off + 2, 1):uint()
				local used = math.min(shift, MAX_WSCALE)
				local mult = math.floor(2 ^ used)
				t = otree:add(F.opt_ws_item, r)
				t:set_text(string.format("Window scale: %d (multiply by %d)", shift, mult))
				t:add(F.option_kind, tvb(o.off, 1))
				t:add(F.option_len, tvb(o.off + 1, 1))
				local it = t:add(F.opt_ws_shift, tvb(o.off + 2, 1))
				if shift > MAX_WSCALE then
					it:append_text(" (above 14: used as 14, RFC 7323, 2.3)")
				end
				t:add(F.opt_ws_mult, tvb(o.off + 2, 1), mult):set_generated()
				notes[#notes + 1] = "WS=" .. mult
			elseif o.err then
				t = otree:add(F.opt_other_item, r)
				t:set_text(option_names[o.kind] .. ": " .. o.err)
				t:add(F.option_kind, tvb(o.off, 1))
				t:add(F.option_len, tvb(o.off + 1, 1))
				t:add_proto_expert_info(E.bad_option, "Malformed option: " .. o.err)
			else
				t = otree:add(F.opt_other_item, r)
				t:set_text(string.format("Unknown option: kind %d, %d bytes",
								    o.kind, o.len))
				t:add(F.option_kind, tvb(o.off, 1))
				t:add(F.option_len, tvb(o.off + 1, 1))
				if o.len > 2 then
					t:add(F.opt_unknown, tvb(o.off + 2, o.len - 2))
				end
				notes[#notes + 1] = "Opt" .. o.kind
			end
		end
	end
	if not seg.syn and (seg.mss or seg.wscale) then
		otree:append_text(" [MSS and window scale count only on a SYN]")
	end
	return notes
end

local ARROW = " \226\134\146 "

local function state_text(port, before, after)
	if before == after then
		return port .. " " .. (after or "?")
	end
	return port .. " " .. (before or "?") .. ARROW .. (after or "?")
end

-- The ETP header as flags the receiver drops (Documentation/protocol.rst).
local function flags_dropped(flags)
	local syn, ack, rst, fin = has(flags, SYN), has(flags, ACK), has(flags, RST), has(flags, FIN)
	return (syn and (fin or rst)) or not (syn or ack or rst)
end

function etp.dissector(tvb, pinfo, tree)
	local caplen, seglen = tvb:len(), tvb:reported_len()

	pinfo.cols.protocol = "ETP"
	local top = tree:add(etp, tvb())

	-- Too short for a header: show the ports if they are there (an ICMP
	-- error may quote only 8 octets) and stop.
	if caplen < HDR_LEN then
		local text = "[header truncated]"
		if caplen >= 4 then
			local sp, dp = tvb(0, 2):uint(), tvb(2, 2):uint()
			top:add(F.srcport, tvb(0, 2))
			top:add(F.dstport, tvb(2, 2))
			top:append_text(string.format(", Src Port: %d, Dst Port: %d", sp, dp))
			text = string.format("%d%s%d %s", sp, ARROW, dp, text)
		end
		if seglen < HDR_LEN then
			top:add_proto_expert_info(E.short)
		end
		pinfo.cols.info = text
		return caplen
	end

	local seg = {
		sport = tvb(0, 2):uint(),
		dport = tvb(2, 2):uint(),
		seq_raw = tvb(4, 4):uint(),
		ack_raw = tvb(8, 4):uint(),
		flags = tvb(13, 1):uint(),
	}
	local doff = math.floor(tvb(12, 1):uint() / 16)
	local hlen = doff * 4
	local window = tvb(14, 2):uint()
	local check = tvb(16, 2):uint()
	local urgent = tvb(18, 2):uint()
	local bad_doff = doff < 5 or hlen > seglen
	seg.syn, seg.ack = has(seg.flags, SYN), has(seg.flags, ACK)
	seg.fin, seg.rst = has(seg.flags, FIN), has(seg.flags, RST)
	seg.len = bad_doff and 0 or seglen - hlen
	seg.space = seg.len + (seg.syn and 1 or 0) + (seg.fin and 1 or 0)
	seg.nxt_raw = seq_add(seg.seq_raw, seg.space)

	local options = {}
	if not bad_doff and hlen > HDR_LEN and caplen >= hlen then
		options = parse_options(tvb, hlen, seg)
	end

	local status, calc = verify_checksum(tvb, pinfo, check)

	-- The connection analysis runs once per frame, on the first pass in
	-- capture order; a segment quoted in an ICMP error moves nothing.
	local info
	if etp.prefs.analyze and not pinfo.in_error_pkt and not bad_doff then
		info = frames[pinfo.number]
		if not info and not pinfo.visited then
			info = analyze(pinfo, seg, status == CKSUM_BAD)
			frames[pinfo.number] = info
		end
	end
	local relative = info and etp.prefs.relative

	-- The header, in wire order.
	top:add(F.srcport, tvb(0, 2))
	top:add(F.dstport, tvb(2, 2))
	top:add(F.port, tvb(0, 2)):set_hidden()
	top:add(F.port, tvb(2, 2)):set_hidden()
	if info then
		top:add(F.stream, info.stream):set_generated()
	end
	top:add(F.len, seg.len):set_generated()

	local seq_shown = relative and info.seq or seg.seq_raw
	local it = top:add(F.seq, tvb(4, 4), seq_shown)
	if relative then
		it:append_text("    (relative sequence number)")
	end
	top:add(F.seq_raw, tvb(4, 4))
	if info and seg.space > 0 then
		local nxt = relative and info.nxt or seg.nxt_raw
		local ni = top:add(F.nxtseq, nxt):set_generated()
		if relative then
			ni:append_text("    (relative sequence number)")
		end
	end
	local ack_shown = nil
	if seg.ack then
		ack_shown = relative and info.ack or seg.ack_raw
		it = top:add(F.ack, tvb(8, 4), ack_shown)
		if relative then
			it:append_text("    (relative ack number)")
		end
	else
		it = top:add(F.ack, tvb(8, 4), seg.ack_raw)
		it:append_text(" [ACK not set: not used]")
	end
	top:add(F.ack_raw, tvb(8, 4))
	if info and info.guessed_base then
		top:add(F.rel_base, "the SYN of one end was not captured: its numbers count from the first seen")
			:set_generated()
	end

	it = top:add(F.hdr_len, tvb(12, 1), hlen)
	it:set_text(string.format("%s = Header Length: %d bytes (%d)",
				  (doff >= 8 and "1" or "0") .. (doff % 8 >= 4 and "1" or "0") ..
				  (doff % 4 >= 2 and "1" or "0") .. (doff % 2 >= 1 and "1" or "0") .. " ....",
				  hlen, doff))
	if bad_doff then
		it:add_proto_expert_info(E.bad_doff,
			string.format("Data offset %d words (%d octets): below 5 or past the %d-octet segment",
				      doff, hlen, seglen))
	end
	top:add(F.doff, tvb(12, 1)):set_hidden()

	local summary = flags_summary(seg.flags)
	local ft = top:add(F.flags, tvb(13, 1))
	ft:append_text(" (" .. summary .. ")")
	ft:add(F.reserved, tvb(12, 1))
	ft:add(F.f_cwr, tvb(13, 1))
	ft:add(F.f_ece, tvb(13, 1))
	ft:add(F.f_urg, tvb(13, 1))
	ft:add(F.f_ack, tvb(13, 1))
	ft:add(F.f_psh, tvb(13, 1))
	ft:add(F.f_rst, tvb(13, 1))
	ft:add(F.f_syn, tvb(13, 1))
	ft:add(F.f_fin, tvb(13, 1))
	ft:add(F.flags_str, tvb(13, 1), flags_string(seg.flags)):set_generated()
	if flags_dropped(seg.flags) then
		ft:add_proto_expert_info(E.bad_flags)
	end
	if seg.syn then
		ft:add_proto_expert_info(E.connection, seg.ack and "Connection establish acknowledge (SYN+ACK)"
						       or "Connection establish request (SYN)")
	end
	if seg.fin then
		ft:add_proto_expert_info(E.connection, "Connection finish (FIN)")
	end
	if seg.rst then
		ft:add_proto_expert_info(E.reset)
	end

	-- Window: raw on a SYN; otherwise shifted by the sender's scale once
	-- both SYNs showed whether it is used.
	top:add(F.window_value, tvb(14, 2))
	local win_shown = window
	if info then
		if info.win_factor > 0 then
			win_shown = window * info.win_factor
			top:add(F.window, tvb(14, 2), win_shown):set_generated()
		end
		it = top:add(F.window_factor, tvb(14, 2), info.win_factor):set_generated()
		if info.dropped then
			it:append_text(" (not analysed: the receiver drops this segment)")
		elseif info.win_factor == -1 then
			it:append_text(" (unknown: the SYNs were not both captured)")
		elseif seg.syn then
			it:append_text(" (a SYN's window is never scaled)")
		elseif info.win_factor == 1 then
			it:append_text(" (no window scaling used)")
		end
	end

	-- Checksum.
	it = top:add(F.checksum, tvb(16, 2))
	if status == CKSUM_GOOD then
		it:append_text(" [correct]")
	elseif status == CKSUM_BAD then
		it:append_text(string.format(" incorrect, should be 0x%04x", calc))
		it:add_proto_expert_info(E.checksum_bad)
	else
		it:append_text(" [unverified]")
	end
	if calc then
		top:add(F.checksum_calc, tvb(16, 2), calc):set_generated()
	end
	top:add(F.checksum_status, status):set_generated()

	it = top:add(F.urgent, tvb(18, 2))
	if urgent ~= 0 or has(seg.flags, URG) then
		it:add_proto_expert_info(E.urgent)
	end

	local notes = {}
	if #options > 0 then
		notes = add_options(tvb, top, hlen, options, seg)
	end

	-- What the analysis found.
	if info then
		local a = top:add(F.analysis, tvb(0, 0))
		a:set_text(string.format("Connection state: %s, %s",
					state_text(seg.sport, info.src_before, info.src_after),
					state_text(seg.dport, info.dst_before, info.dst_after)))
		a:set_generated()
		if info.src_after then
			a:add(F.state, info.src_after):set_generated()
		end
		if info.dst_after then
			a:add(F.state_dst, info.dst_after):set_generated()
		end
		if info.dropped then
			a:append_text(" (bad checksum: the receiver drops it)")
		end
		if info.src_then then
			a:append_text(string.format(" (crossed the peer's %s: %d then %s)",
						    seg.syn and "SYN" or "FIN", seg.sport, info.src_then))
		elseif info.crossed then
			a:append_text(string.format(" (crossed %d's %s on the way)", seg.dport,
						    seg.syn and "SYN" or "FIN"))
		end
		if info.retrans then
			local r = a:add(F.retrans, tvb(4, 4)):set_generated()
			r:add_proto_expert_info(E.retrans)
		end
	end

	if seg.len > 0 and caplen > hlen then
		top:add(F.payload, tvb(hlen, math.min(caplen, seglen) - hlen))
	end

	-- Summary line and Info column, in the style of Wireshark's TCP.
	top:append_text(string.format(", Src Port: %d, Dst Port: %d, Seq: %d", seg.sport, seg.dport,
				      seq_shown))
	if seg.ack then
		top:append_text(", Ack: " .. ack_shown)
	end
	top:append_text(", Len: " .. seg.len)

	local col = string.format("%d%s%d [%s] Seq=%d", seg.sport, ARROW, seg.dport, summary, seq_shown)
	if seg.ack then
		col = col .. " Ack=" .. ack_shown
	end
	col = col .. " Win=" .. win_shown .. " Len=" .. seg.len
	if #notes > 0 then
		col = col .. " " .. table.concat(notes, " ")
	end
	if info and info.retrans then
		col = "[ETP Retransmission] " .. col
	end
	if status == CKSUM_BAD then
		col = col .. " [bad checksum]"
	end
	if bad_doff then
		col = col .. " [bad data offset]"
	end
	pinfo.cols.info = col
	return caplen
end

DissectorTable.get("ip.proto"):add(IPPROTO_ETP, etp)
