"""The top-level domains a bare domain may end with to count as a URL on X.

twitter-text (v3) counts ``example.com`` or ``www.acme.fr/page`` as a URL of 23 even without
``https://`` when the domain ends with a known TLD. Its list is IANA's (1,500 names, refreshed
with each release); this one is a reasonable subset kept with the code: every country code
(ISO 3166-1, plus ``uk``, ``eu``, ``ac``, ``su``) and the generic TLDs people write in posts.
A TLD missing here only makes the counter a little low for that domain (X's own counter
decides at publication); one listed here that X does not know makes it a little high.
"""

from __future__ import annotations

# Country codes: a bare domain of one label and a country code (``acme.fr``) counts only
# with a path (``acme.fr/page``) or with more labels (``www.acme.fr``), except ``co`` and
# ``tv`` (twitter-text's invalidShortDomain and validSpecialShortDomain).
_COUNTRY = """
    ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn
    bo bq br bs bt bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj
    dk dm do dz ec ee eg er es et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp
    gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg
    kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm
    mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf
    pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sk sl sm sn
    so sr ss st su sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug uk us
    uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw
"""
COUNTRY_TLDS: frozenset[str] = frozenset(_COUNTRY.split())
SHORT_DOMAIN_TLDS: frozenset[str] = frozenset(("co", "tv"))

_GENERIC = """
    academy aero agency app art asia bio biz blog boutique build business bzh cab cafe camp
    capital care careers cat center chat city click cloud club codes coffee college com
    community company consulting cool coop corsica dance dating deals design dev digital
    direct directory domains earth eco education email energy engineering enterprises
    equipment estate eus events exchange expert express fashion finance fit fitness
    foundation fun fund furniture gallery games garden gift global gmbh gold golf gov
    graphics group guide guru health help holdings house immo inc info ink institute int
    international jobs kitchen land law lawyer life link live london ltd luxury management
    market marketing media menu mil mobi moda money museum music name net network news ngo
    nyc one online ooo org page paris partners photo photography photos pics pizza place
    plus press pro productions properties pub quebec radio recipes red rest restaurant
    reviews rocks run sale salon school science services shop shopping site ski social
    software solar solutions space store studio style support swiss systems team tech
    technology tel tips today tokyo tools top tours town toys trade training travel
    university vegas ventures vip vision wiki win wine work works world wtf xxx xyz zone
"""
GENERIC_TLDS: frozenset[str] = frozenset(_GENERIC.split())
