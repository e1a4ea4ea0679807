// kgweave: ready Cypher queries for Neo4j Browser (or cypher-shell, or any driver).
//
// Each query starts with a "// name: <key>" line and, right below, the parameters it takes as a
// Browser command you can paste as is:
//     :params {name: 'graph neural network', limit: 25}
// (:params replaces every parameter; ":param name => 'GNN'" changes one). Integers are wrapped in
// toInteger() because ":params" sends JavaScript numbers, which arrive as floats.
// The graph's layout (graph_store/cypher.py):
//   (:Document {source, title})-[:HAS_CHUNK]->(:Chunk {text, start, end})
//   (:Entity:<Label> {id, name, norm_name, label, support, first_run, last_run, <metrics>})
//       -[:MENTIONED_IN {start, end, text}]->(:Chunk)
//   (:Entity)-[:<TYPE> {id, support, chunk_ids, evidence, first_run, last_run}]->(:Entity)
//   (:Run {id, kind, status, started_at, finished_at, extractor, model, summary})
// Node metrics (degree, pagerank, betweenness, community, hub_score...) are entity properties
// written by the analysis step; they are floats, and absent until an analysis has run.
// A concept is found by name, case-insensitively: its name as shown, or its norm_name (the
// store's normalised key: punctuation as spaces, final plural "s" dropped), with or without a
// final "s" ("Graph Neural Networks", "graph neural network" and "GNN" all work).
// Every query comes twice: "<key>" is a table (flat columns, no paths or nested lists: name, type,
// support first, then the query's own values, then the evidence sentence and its document's source),
// "<key>-picture" returns paths only (one column, "path"), for the graph view. Turn off Browser's
// "Connect result nodes" (Settings) for pictures that show just the returned relationships.
// Ordering puts missing values (no analysis yet) last: ORDER BY coalesce(x, -1) DESC.
// Run summaries link to these queries with their parameters filled in (deploy/neo4j_browser.py).
// tests/integration/test_neo4j_queries.py runs every query here against a real Neo4j.


// name: top-hubs
// The most central entities: by hub_score where the analysis wrote one, else by degree (distinct
// neighbouring entities, counted now, a self-loop counting 2: the analysis' degree). score_source
// says which; entities without a hub_score come last. hub marks the :Hub label (analyze --write-back).
// :params {limit: 25}
MATCH (e:Entity)
WITH e, size(COLLECT { MATCH (e)-[r]-(n:Entity)
                        WHERE n <> e AND NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN'] AND r.is_merge IS NULL
                        RETURN DISTINCT n })
        + CASE WHEN EXISTS { MATCH (e)-[r]->(e)
                             WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN'] AND r.is_merge IS NULL }
               THEN 2 ELSE 0 END AS degree
RETURN e.name AS name, e.label AS type, e.support AS support, e.hub_score AS hub_score, degree,
       e.pagerank AS pagerank, toInteger(e.community) AS community,
       CASE WHEN e.hub_score IS NULL THEN 'degree' ELSE 'hub_score' END AS score_source, e:Hub AS hub, e.id AS id
ORDER BY coalesce(hub_score, -1) DESC, degree DESC, name
LIMIT toInteger($limit);


// name: top-hubs-picture
// The top hubs and the relations between them.
// :params {limit: 25}
MATCH (e:Entity)
WITH e, size(COLLECT { MATCH (e)-[r]-(n:Entity)
                        WHERE n <> e AND NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN'] AND r.is_merge IS NULL
                        RETURN DISTINCT n })
        + CASE WHEN EXISTS { MATCH (e)-[r]->(e)
                             WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN'] AND r.is_merge IS NULL }
               THEN 2 ELSE 0 END AS degree
ORDER BY coalesce(e.hub_score, -1) DESC, degree DESC, e.name
LIMIT toInteger($limit)
WITH collect(e) AS hubs
CALL (hubs) {
  UNWIND hubs AS a
  MATCH p = (a)
  RETURN p
  UNION
  UNWIND hubs AS a
  MATCH p = (a)-[r]->(b:Entity)
  WHERE b IN hubs AND NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN']
  RETURN p
}
RETURN p AS path;


// name: bridge-entities
// Entities whose neighbours lie in at least $min_communities communities (needs the community
// metric): the concepts that connect topics. betweenness, when written, ranks ties.
// :params {min_communities: 2, limit: 25}
MATCH (e:Entity)-[r]-(n:Entity)
WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN'] AND n.community IS NOT NULL
WITH e, collect(DISTINCT toInteger(n.community)) AS communities, count(DISTINCT n) AS neighbours
WHERE size(communities) >= toInteger($min_communities)
RETURN e.name AS name, e.label AS type, e.support AS support, toInteger(e.community) AS community,
       size(communities) AS community_count,
       reduce(text = '', c IN communities | text + CASE WHEN text = '' THEN '' ELSE ', ' END + toString(c))
         AS communities, neighbours, e.betweenness AS betweenness
ORDER BY community_count DESC, coalesce(betweenness, -1) DESC, neighbours DESC, name
LIMIT toInteger($limit);


// name: bridge-entities-picture
// The bridge entities with their relations to neighbours in other communities than their own.
// :params {min_communities: 2, limit: 25}
MATCH (e:Entity)-[r]-(n:Entity)
WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN'] AND n.community IS NOT NULL
WITH e, collect(DISTINCT toInteger(n.community)) AS communities, count(DISTINCT n) AS neighbours
WHERE size(communities) >= toInteger($min_communities)
ORDER BY size(communities) DESC, coalesce(e.betweenness, -1) DESC, neighbours DESC, e.name
LIMIT toInteger($limit)
MATCH p = (e)-[r]-(n:Entity)
WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN'] AND toInteger(n.community) <> toInteger(e.community)
RETURN p AS path;


// name: community-bridges
// Relations whose two ends are in different communities, strongest evidence first. Set
// community_a and/or community_b to a community number to see only the edges between those two
// (null: any).
// :params {community_a: null, community_b: null, limit: 25}
MATCH (a:Entity)-[r]->(b:Entity)
WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN']
  AND a.community IS NOT NULL AND b.community IS NOT NULL
WITH a, r, b, toInteger(a.community) AS ca, toInteger(b.community) AS cb
WHERE ca <> cb
  AND ($community_a IS NULL OR toInteger($community_a) IN [ca, cb])
  AND ($community_b IS NULL OR toInteger($community_b) IN [ca, cb])
RETURN a.name AS name, type(r) AS type, r.support AS support, b.name AS target, ca AS name_community,
       cb AS target_community, r.evidence[0] AS sentence, COLLECT { MATCH (d:Document)-[:HAS_CHUNK]->(c:Chunk) WHERE c.id = r.chunk_ids[0] RETURN d.source }[0] AS source
ORDER BY coalesce(support, -1) DESC, name, target
LIMIT toInteger($limit);


// name: community-bridges-picture
// The relations between communities, drawn.
// :params {community_a: null, community_b: null, limit: 25}
MATCH (a:Entity)-[r]->(b:Entity)
WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN']
  AND a.community IS NOT NULL AND b.community IS NOT NULL
WITH a, r, b, toInteger(a.community) AS ca, toInteger(b.community) AS cb
WHERE ca <> cb
  AND ($community_a IS NULL OR toInteger($community_a) IN [ca, cb])
  AND ($community_b IS NULL OR toInteger($community_b) IN [ca, cb])
WITH a, r, b ORDER BY coalesce(r.support, -1) DESC, a.name, b.name
LIMIT toInteger($limit)
MATCH p = (a)-[r]->(b)
RETURN p AS path;


// name: provenance
// Where a concept comes from: each mention with the sentence it sits in (the chunk text split at
// ". ", the part holding the mention's offset, without its final period), its document's title and
// source, and how many of the concept's relations are evidenced in that chunk.
// :params {name: 'graph neural network', limit: 50}
WITH toLower(trim($name)) AS wanted
MATCH (e:Entity)
WHERE e.norm_name IN [wanted, CASE WHEN wanted ENDS WITH 's' THEN left(wanted, size(wanted) - 1) END]
   OR toLower(e.name) = wanted
MATCH (e)-[m:MENTIONED_IN]->(c:Chunk)<-[:HAS_CHUNK]-(d:Document)
WITH e, m, c, d, m.start - c.start AS at, split(c.text, '. ') AS parts
WITH e, m, c, d,
     reduce(acc = {pos: 0, sentence: null}, part IN parts |
       CASE WHEN acc.sentence IS NULL AND at < acc.pos + size(part) + 2
            THEN {pos: acc.pos, sentence: part}
            ELSE {pos: acc.pos + size(part) + 2, sentence: acc.sentence} END).sentence AS sentence
RETURN e.name AS name, e.label AS type, e.support AS support, m.text AS mention, m.start AS start,
       COUNT { MATCH (e)-[r]-(:Entity) WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN'] AND c.id IN r.chunk_ids } AS relations,
       sentence, d.title AS title, d.source AS source
ORDER BY source, start
LIMIT toInteger($limit);


// name: provenance-picture
// A concept, the chunks that mention it and their documents, and its relations evidenced there.
// :params {name: 'graph neural network', limit: 50}
WITH toLower(trim($name)) AS wanted
MATCH (e:Entity)
WHERE e.norm_name IN [wanted, CASE WHEN wanted ENDS WITH 's' THEN left(wanted, size(wanted) - 1) END]
   OR toLower(e.name) = wanted
MATCH (e)-[m:MENTIONED_IN]->(c:Chunk)<-[:HAS_CHUNK]-(d:Document)
WITH e, m, c, d ORDER BY d.source, m.start
LIMIT toInteger($limit)
CALL (e, m, c, d) {
  MATCH p = (e)-[m]->(c)<-[:HAS_CHUNK]-(d)
  RETURN p
  UNION
  MATCH p = (e)-[r]-(:Entity)
  WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN'] AND c.id IN r.chunk_ids
  RETURN p
}
RETURN p AS path;


// name: run-additions
// What one run added: entities and relations first written by run $run (kind 'entity' or
// 'relation'), most supported first; take the id from the runs query. A run that only re-merged
// what was there adds nothing (the writes are idempotent merges).
// :params {run: 'build-20261126T140203-3f9a', limit: 100}
CALL () {
  MATCH (e:Entity) WHERE e.first_run = $run
  RETURN e.name AS name, e.label AS type, e.support AS support, 'entity' AS kind, null AS target,
         null AS sentence
  UNION ALL
  MATCH (a:Entity)-[r]->(b:Entity)
  WHERE r.first_run = $run AND NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN']
  RETURN a.name AS name, type(r) AS type, r.support AS support, 'relation' AS kind, b.name AS target,
         r.evidence[0] AS sentence
}
RETURN name, type, support, kind, target, sentence
ORDER BY kind, coalesce(support, -1) DESC, name, target
LIMIT toInteger($limit);


// name: run-additions-picture
// What one run added, drawn: its new relations, and its new entities (alone where they have none).
// :params {run: 'build-20261126T140203-3f9a', limit: 100}
CALL () {
  MATCH p = (a:Entity)-[r]->(b:Entity)
  WHERE r.first_run = $run AND NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN']
  RETURN p, coalesce(r.support, -1) AS support
  UNION
  MATCH p = (e:Entity) WHERE e.first_run = $run
  RETURN p, coalesce(e.support, -1) AS support
}
WITH p, support ORDER BY length(p) DESC, support DESC
LIMIT toInteger($limit)
RETURN p AS path;


// name: shortest-path
// The shortest chain of relations (either direction, at most 8 hops) between two concepts named
// $from and $to, one row per hop: route number, hop, the two ends, the relation's type (":>" forward,
// "<:" backward), its support, first evidence sentence and its document's source.
// :params {from: 'graph neural network', to: 'over-smoothing', limit: 5}
WITH toLower(trim($from)) AS wanted_a, toLower(trim($to)) AS wanted_b
MATCH (a:Entity)
WHERE a.norm_name IN [wanted_a, CASE WHEN wanted_a ENDS WITH 's' THEN left(wanted_a, size(wanted_a) - 1) END]
   OR toLower(a.name) = wanted_a
MATCH (b:Entity)
WHERE b.norm_name IN [wanted_b, CASE WHEN wanted_b ENDS WITH 's' THEN left(wanted_b, size(wanted_b) - 1) END]
   OR toLower(b.name) = wanted_b
WITH a, b WHERE a <> b
MATCH p = shortestPath((a)-[*..8]-(b))
WHERE all(r IN relationships(p) WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN'])
WITH p ORDER BY length(p), [n IN nodes(p) | n.name]
LIMIT toInteger($limit)
WITH collect(p) AS routes
UNWIND range(0, size(routes) - 1) AS route
WITH route + 1 AS route, nodes(routes[route]) AS ns, relationships(routes[route]) AS rs
UNWIND range(0, size(rs) - 1) AS i
WITH route, i + 1 AS hop, ns[i] AS here, ns[i + 1] AS there, rs[i] AS r
RETURN here.name AS name, CASE WHEN startNode(r) = here THEN type(r) + ' :>' ELSE '<: ' + type(r) END AS type,
       r.support AS support, there.name AS target, route, hop, r.evidence[0] AS sentence,
       COLLECT { MATCH (d:Document)-[:HAS_CHUNK]->(c:Chunk) WHERE c.id = r.chunk_ids[0] RETURN d.source }[0] AS source
ORDER BY route, hop;


// name: shortest-path-picture
// The shortest chains of relations between two concepts, drawn.
// :params {from: 'graph neural network', to: 'over-smoothing', limit: 5}
WITH toLower(trim($from)) AS wanted_a, toLower(trim($to)) AS wanted_b
MATCH (a:Entity)
WHERE a.norm_name IN [wanted_a, CASE WHEN wanted_a ENDS WITH 's' THEN left(wanted_a, size(wanted_a) - 1) END]
   OR toLower(a.name) = wanted_a
MATCH (b:Entity)
WHERE b.norm_name IN [wanted_b, CASE WHEN wanted_b ENDS WITH 's' THEN left(wanted_b, size(wanted_b) - 1) END]
   OR toLower(b.name) = wanted_b
WITH a, b WHERE a <> b
MATCH p = shortestPath((a)-[*..8]-(b))
WHERE all(r IN relationships(p) WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN'])
WITH p ORDER BY length(p), [n IN nodes(p) | n.name]
LIMIT toInteger($limit)
RETURN p AS path;


// name: neighbourhood
// A concept and the entities one relation away: the relation, its support and first evidence.
// :params {name: 'graph neural network', limit: 50}
WITH toLower(trim($name)) AS wanted
MATCH (e:Entity)
WHERE e.norm_name IN [wanted, CASE WHEN wanted ENDS WITH 's' THEN left(wanted, size(wanted) - 1) END]
   OR toLower(e.name) = wanted
MATCH (e)-[r]-(n:Entity)
WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN']
RETURN e.name AS name, type(r) AS type, r.support AS support, n.name AS neighbour,
       r.evidence[0] AS sentence, COLLECT { MATCH (d:Document)-[:HAS_CHUNK]->(c:Chunk) WHERE c.id = r.chunk_ids[0] RETURN d.source }[0] AS source
ORDER BY coalesce(support, -1) DESC, neighbour
LIMIT toInteger($limit);


// name: neighbourhood-picture
// A concept and the entities one relation away, drawn (apply deploy/neo4j/style.grass).
// :params {name: 'graph neural network', limit: 50}
WITH toLower(trim($name)) AS wanted
MATCH (e:Entity)
WHERE e.norm_name IN [wanted, CASE WHEN wanted ENDS WITH 's' THEN left(wanted, size(wanted) - 1) END]
   OR toLower(e.name) = wanted
MATCH (e)-[r]-(n:Entity)
WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN']
WITH e, r, n ORDER BY coalesce(r.support, -1) DESC, n.name
LIMIT toInteger($limit)
MATCH p = (e)-[r]-(n)
RETURN p AS path;


// name: runs
// Every recorded run, newest first, with how many entities it was the first to write.
// :params {limit: 50}
MATCH (r:Run) WHERE NOT r:Entity
RETURN r.id AS name, r.kind AS type, COUNT { MATCH (e:Entity) WHERE e.first_run = r.id } AS entities_added,
       r.status AS status, r.started_at AS started_at, r.finished_at AS finished_at, r.extractor AS extractor,
       r.model AS model, r.summary AS summary
ORDER BY coalesce(started_at, '') DESC, name
LIMIT toInteger($limit);


// name: runs-picture
// Every recorded run, newest first, as nodes.
// :params {limit: 50}
MATCH (r:Run) WHERE NOT r:Entity
WITH r ORDER BY coalesce(r.started_at, '') DESC, r.id
LIMIT toInteger($limit)
MATCH p = (r)
RETURN p AS path;


// name: merges
// The merges of one entity-resolution run ($run; null: every run): each alias, the canonical entity
// it now points at (SAME_AS), how it was found (method) and how sure (score). Undo a run with
// kgweave resolve --undo RUN.
// :params {run: null, limit: 100}
MATCH (a:Entity)-[s:SAME_AS]->(c:Entity)
WHERE s.is_merge = true AND ($run IS NULL OR s.run_id = $run)
RETURN a.name AS name, a.label AS type, a.support AS support, c.name AS canonical, c.label AS canonical_type,
       s.method AS method, s.score AS score, s.run_id AS run
ORDER BY canonical, coalesce(support, -1) DESC, name
LIMIT toInteger($limit);


// name: merges-picture
// The merges of one entity-resolution run, drawn: aliases pointing at their canonical entity.
// :params {run: null, limit: 100}
MATCH p = (a:Entity)-[s:SAME_AS]->(c:Entity)
WHERE s.is_merge = true AND ($run IS NULL OR s.run_id = $run)
WITH p, c, a ORDER BY c.name, a.name
LIMIT toInteger($limit)
RETURN p AS path;
